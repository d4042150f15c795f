"""The exchange: the TAXII 2.1 server and the object store behind it.

Owns the HTTP surface (:mod:`.taxii`: discovery, API roots, status,
collections, manifest, objects, versions), TAXII filter parsing
(:mod:`.filters`), signed stateless pagination tokens (:mod:`.pagination`),
who may see which API root and collection (:mod:`.access`), and the store of
STIX object versions with TLP enforced on every read (:mod:`.store`).
"""
