"""The journal: every change as one recorded entry.

* :mod:`~servicecidr.journal.records`: entries and writes, and their record layout;
* :mod:`~servicecidr.journal.recorder`: the recorder contract, and the in-memory
  recorders;
* :mod:`~servicecidr.journal.segments`: the log's segment files (framing, CRC32C,
  durability, batches);
* :mod:`~servicecidr.journal.snapshots`: whole-state snapshots;
* :mod:`~servicecidr.journal.recovery`: replay, verification, torn-tail repair;
* :mod:`~servicecidr.journal.state`: state directories and the on-disk recorder.
"""

from servicecidr.journal.records import Entry, Write, decode_entry, encode_entry

__all__ = ["Entry", "Write", "decode_entry", "encode_entry"]
