"""API validation of Service, ServiceCIDR and IPAddress, with kube-apiserver's exact texts,
by part: :mod:`.names`, :mod:`.ips`, :mod:`.meta`, :mod:`.servicecidr`, :mod:`.ipaddress`,
:mod:`.service` (and :mod:`.common`).

Sources (Kubernetes 1.33-1.35; where releases differ the newest stored copy is followed and
the difference is noted):

* ``staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go``
  (``ValidateObjectMeta``, ``ValidateObjectMetaUpdate``) plus the core wrappers of
  ``pkg/apis/core/validation/validation.go`` (``validateKubeFinalizerName``);
* ``staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go``,
  ``pkg/api/validate/content`` (DNS labels and subdomains, qualified names, label values,
  port numbers and names, path segments) and ``ip.go`` (``IsValidIP``, ``IsValidCIDR``
  and the ``...ForLegacyField`` variants);
* ``pkg/apis/networking/validation/validation.go`` (``ValidateServiceCIDR``,
  ``ValidateServiceCIDRUpdate``, ``ValidateIPAddress``, ``ValidateIPAddressUpdate``);
* ``pkg/apis/core/validation/validation.go`` (``ValidateService``,
  ``ValidateServiceUpdate``, ``ValidateServiceClusterIPsRelatedFields``,
  ``validateUpgradeDowngradeClusterIPs``/``IPFamilies``);
* ``pkg/api/service/warnings.go`` (``GetWarningsForService``).

Every function takes the objects as the JSON-shaped dicts :mod:`servicecidr.api.decode`
produces (after defaulting, and for Services after ClusterIP allocation) and returns a list
of :class:`~servicecidr.api.field_errors.FieldError`; nothing here raises on bad input.
IP and CIDR parsing follow Go exactly (``netutils.ParseIPSloppy``/``ParseCIDRSloppy``,
``netip.ParseAddr``/``ParsePrefix``); no compiled extension is imported.

Go iterates maps in random order; label, selector and annotation errors here come out in
sorted key order.
"""

from __future__ import annotations

from servicecidr.api.validation.common import QUALIFIED_KIND, STRICT_IP_CIDR_VALIDATION, NameFn
from servicecidr.api.validation.ipaddress import validate_ip_address, validate_ip_address_update
from servicecidr.api.validation.ips import (
    get_warnings_for_cidr,
    get_warnings_for_ip,
    ip_family_of,
    is_valid_cidr,
    is_valid_cidr_for_legacy_field,
    is_valid_ip,
    is_valid_ip_for_legacy_field,
    parse_cidr_sloppy,
    parse_ip_sloppy,
)
from servicecidr.api.validation.meta import (
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)
from servicecidr.api.validation.names import (
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_path_segment_name,
    is_path_segment_prefix,
    is_qualified_name,
    is_valid_label_value,
    is_valid_port_name,
    is_valid_port_num,
    name_is_dns1035_label,
    name_is_dns_label,
    name_is_dns_subdomain,
    validate_ip_address_name,
    validate_path_segment_name,
)
from servicecidr.api.validation.namespace import (
    validate_namespace,
    validate_namespace_finalize_update,
    validate_namespace_status_update,
    validate_namespace_update,
)
from servicecidr.api.validation.service import (
    get_warnings_for_service,
    validate_service,
    validate_service_cluster_ips_related_fields,
    validate_service_status_update,
    validate_service_update,
)
from servicecidr.api.validation.servicecidr import (
    validate_service_cidr,
    validate_service_cidr_status_update,
    validate_service_cidr_update,
)

__all__ = [
    "QUALIFIED_KIND",
    "STRICT_IP_CIDR_VALIDATION",
    "NameFn",
    "get_warnings_for_cidr",
    "get_warnings_for_ip",
    "get_warnings_for_service",
    "ip_family_of",
    "is_dns1035_label",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "is_path_segment_name",
    "is_path_segment_prefix",
    "is_qualified_name",
    "is_valid_cidr",
    "is_valid_cidr_for_legacy_field",
    "is_valid_ip",
    "is_valid_ip_for_legacy_field",
    "is_valid_label_value",
    "is_valid_port_name",
    "is_valid_port_num",
    "name_is_dns1035_label",
    "name_is_dns_label",
    "name_is_dns_subdomain",
    "parse_cidr_sloppy",
    "parse_ip_sloppy",
    "validate_ip_address",
    "validate_ip_address_name",
    "validate_ip_address_update",
    "validate_labels",
    "validate_namespace",
    "validate_namespace_finalize_update",
    "validate_namespace_status_update",
    "validate_namespace_update",
    "validate_object_meta",
    "validate_object_meta_update",
    "validate_path_segment_name",
    "validate_service",
    "validate_service_cidr",
    "validate_service_cidr_status_update",
    "validate_service_cidr_update",
    "validate_service_cluster_ips_related_fields",
    "validate_service_status_update",
    "validate_service_update",
]
