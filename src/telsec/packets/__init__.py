"""Packet captures: pcap/pcapng files (:mod:`.capture`) and the link and IP layers
(:mod:`.network`), shared by the analysers that read captures (signalling, radio
device logs)."""
