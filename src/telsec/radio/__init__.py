"""Radio: detect, locate and track fake base stations (SMS blasters).

Readers turn cell inventories, observations (drive tests, crowdsourced phones,
UE measurement reports, 2G scans) into one columnar schema
(:mod:`.schema`); :mod:`.detect` scores each observed cell with explainable
evidence; :mod:`.locate` estimates where a fixed suspect transmitter was per
time window, and :mod:`.track` follows a moving one over its whole time on the
air, window by window; :mod:`.simulate` writes a city's
observations with ground truth and :mod:`.evaluate` scores the detector on it.
"""
