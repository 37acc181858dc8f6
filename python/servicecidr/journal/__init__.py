"""Events: the recorded outcomes the engine replays."""

from servicecidr.journal.records import Event, Write, decode_event, encode_event

__all__ = ["Event", "Write", "decode_event", "encode_event"]
