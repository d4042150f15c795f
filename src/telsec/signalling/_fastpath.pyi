"""Types of the compiled fast path (:file:`_fastpath.pyx`)."""

from collections.abc import Callable

import numpy as np

PROTOCOL_MAP: int
PROTOCOL_DIAMETER: int
ROW_FIELDS: tuple[str, ...]
ROW_DTYPE: np.dtype

class Interner:
    strings: list[str]
    def text(self, value: str) -> int: ...

class RowBuffer:
    def __init__(self, capacity: int = ...) -> None: ...
    def __len__(self) -> int: ...
    def add(
        self,
        frame: int,
        time: float,
        protocol: int,
        operation: bool,
        opc: int,
        opcode: int,
        command_code: int,
        calling_gt: int,
        called_gt: int,
        imsi: int,
        msisdn: int,
        vlr_number: int,
        msc_number: int,
        service_centre: int,
        origin_realm: int,
        visited_plmn: int,
    ) -> None: ...
    def array(self) -> np.ndarray: ...

def decode_frame(
    data: bytes | bytearray | memoryview,
    linktype: int,
    frame: int,
    time: float,
    strings: Interner,
    rows: RowBuffer,
) -> bool: ...
def decode_pcap(
    data: bytes | bytearray | memoryview,
    big_endian: bool,
    nanoseconds: bool,
    linktype: int,
    first_frame: int,
    strings: Interner,
    rows: RowBuffer,
    decline: Callable[[int, float, int, int, int], None],
) -> tuple[int, int]: ...
def pcap_walk(
    data: bytes | bytearray | memoryview, big_endian: bool, limit: int, at_end: bool
) -> tuple[int, int, bool]: ...

PCAPNG_MORE: int
PCAPNG_HEADER: int
PCAPNG_DAMAGED: int

def pcapng_walk(
    data: bytes | bytearray | memoryview, big_endian: bool, limit: int, at_end: bool
) -> tuple[int, int, int]: ...
def decode_pcapng(
    data: bytes | bytearray | memoryview,
    big_endian: bool,
    interfaces: list[tuple[int, float]],
    first_frame: int,
    strings: Interner,
    rows: RowBuffer,
    decline: Callable[[int, float, int, int, int], None],
) -> tuple[int, int]: ...
