"""The Kubernetes API over the engine (``servicecidr serve``).

Part 1, the building blocks, each a module with one job and no engine state:

* :mod:`.protobuf`: Kubernetes protobuf request bodies as JSON;
* :mod:`.patch`: strategic merge patch, JSON merge patch, JSON patch;
* :mod:`.apply`: server-side apply and managedFields (on :mod:`.fieldpath`, field sets
  and FieldsV1, and :mod:`.typed`, the schema-aware merge, compare and remove);
* :mod:`.schema`: the served kinds' Go types, patch tags and list/map/struct markers;
* :mod:`.discovery` and :mod:`.openapi`: discovery documents, ``/version``, OpenAPI v3;
* :mod:`.tables`: server-side ``Table`` responses;
* :mod:`.selectors`: label and field selectors of list and watch requests;
* :mod:`.status`: ``metav1.Status`` bodies for errors;
* :mod:`.gojson` and :mod:`.gosort`: Go's view of JSON values (``==``, ``%v``) and its
  stable sort, where kube-apiserver's output depends on them.
"""
