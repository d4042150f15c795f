"""telsec: the telecoms security exchange.

Analysers turn operators' network data into findings; findings become STIX 2.1
objects; the exchange serves them over TAXII 2.1 with TLP 2.0 enforced per
organisation, and nodes federate.  See ``docs/architecture.md``.
"""

__version__ = "0.1.0"
