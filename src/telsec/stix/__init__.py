"""STIX 2.1 vocabulary: what telsec objects look like and how they are checked.

Owns TLP 2.0 markings (:mod:`.tlp`), STIX timestamps (:mod:`.timestamps`), the
fast structural validator used on the ingest path (:mod:`.validate`), the telecom
extension-definitions and their deterministic SCO ids (:mod:`.telecom`), and the
MITRE FiGHT / GSMA MoTIF techniques loaded as attack-patterns (:mod:`.techniques`).
Nothing here knows about storage, HTTP or the CLI.
"""
