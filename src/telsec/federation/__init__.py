"""Federation: this node's peers, and pulling their collections into ours.

Owns the peer register (:mod:`.peers`: each peer's URL, the token this node
presents to it, the organisation that stands for it here, the collections
pulled from it and how far each has got) and replication (:mod:`.sync`: pull
over TAXII 2.1 from a persisted ``added_after`` cursor, idempotent upserts by
(id, modified), TLP checked on the way in, every transfer audited; a loop for
``telsec serve`` and ``telsec federation sync --watch``).

What a peer may pull from this node is decided by the exchange, on every read
path (:func:`telsec.exchange.store.visible`): CLEAR and GREEN, AMBER only
where the collection's policy names the peer, never AMBER+STRICT or RED, and
never what the peer sent itself.
"""
