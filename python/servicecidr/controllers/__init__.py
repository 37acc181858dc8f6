"""Controllers, as clients of the engine: the ServiceCIDR controller (kcm), the
default-ServiceCIDR and kubernetes-service controllers and the IPAddress repair loop
(kube-apiserver), and the event recorder they report through. They read the store and its
change feed and write through the engine's verbs, as kube-controller-manager does through
kube-apiserver; :class:`ControllerManager` runs them."""

from servicecidr.controllers.manager import ControllerManager

__all__ = ["ControllerManager"]
