"""Controllers: the ServiceCIDR controller (kcm), the default-ServiceCIDR controller and the
IPAddress repair loop (kube-apiserver)."""
