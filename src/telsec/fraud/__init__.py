"""Fraud intelligence: customers' spam and scam reports turned into shared campaigns.

Data flows one way, one module per step:

* :mod:`.records`: report files (CSV, JSONL) read into the documented report
  columns, reporters pseudonymised on ingest, bad rows counted by reason;
* :mod:`.extract`: what a text carries: URLs, registrable domains, shorteners,
  callback numbers, e-mail addresses, the sender's kind, the template text;
* :mod:`.classify`: ham, spam, scam or smishing, and the impersonated brand or
  sector, by the model the project trains from the CC BY 4.0 SMS sets, and the
  language (:mod:`.language`);
* :mod:`.pipeline`: ingest and classification on every core, into
  :mod:`.store`: the ingested reports as Parquet parts on disk, read lazily;
* :mod:`.campaigns`: near-duplicate templates (MinHash/LSH) joined by shared
  infrastructure into campaigns, linked to SMS-blaster alerts and signalling
  findings;
* :mod:`.report`: campaigns as STIX (campaign, indicators, relationships);
* :mod:`.simulate`: reports with known campaigns, for tests, the demo and ``bench/``.
"""
