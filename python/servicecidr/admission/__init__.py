"""ValidatingAdmissionPolicy enforcement in CEL, as kube-apiserver does it.

* :mod:`servicecidr.admission.validation`: defaulting and API validation of
  ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding (every expression is
  compiled and type-checked when written);
* :mod:`servicecidr.admission.matching`: which requests a policy and a binding apply to;
* :mod:`servicecidr.admission.plugin`: the admission hook (:class:`ValidatingAdmissionPolicyPlugin`)
  every :class:`~servicecidr.cluster.Cluster` installs by default;
* :mod:`servicecidr.admission.messages`: the denial errors and audit annotations.

The CEL itself (the Kubernetes IP/CIDR library, the other extensions, the type checker,
evaluation) is Rust: ``rust/cel`` (crate ``servicecidr-cel``), exposed as
:class:`servicecidr._core.CompiledPolicy`.
"""

from servicecidr.admission.plugin import Admitted, ValidatingAdmissionPolicyPlugin

__all__ = ["Admitted", "ValidatingAdmissionPolicyPlugin"]
