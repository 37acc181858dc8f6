"""The API objects as kube-apiserver spells them: decode, default, validate.

Pure Python (no compiled extension is imported here; the engine plugs the extension's
quick pass into :mod:`servicecidr.api.storable`):

* :mod:`servicecidr.api.field_errors` — ``field.Error`` and the ``Invalid`` StatusError;
* :mod:`servicecidr.api.decode` — structural JSON decoding with Go's error texts;
* :mod:`servicecidr.api.storable` — what JSON can carry and kube-apiserver accepts;
* :mod:`servicecidr.api.defaults` — ``SetDefaults_Service`` and friends;
* :mod:`servicecidr.api.validation` — ObjectMeta, ServiceCIDR, IPAddress and Service rules;
* :mod:`servicecidr.api.kinds` — the served kinds and their names.
"""

from __future__ import annotations

__all__ = ["decode", "defaults", "field_errors", "storable", "validation"]
