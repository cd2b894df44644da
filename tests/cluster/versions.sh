# Pinned versions of every third-party component the cluster suite builds from its Go module.
# Sourced by the cluster scripts. KUBERNETES_RELEASES lists the releases the suite runs; the
# first is the default of `up`.
KUBERNETES_RELEASES="v1.37.2 v1.34.4"
CONTAINERD_VERSION=v2.2.9
ETCD_VERSION=v3.6.17
CRICTL_VERSION=v1.37.0
# Debian 12's runc (1.1.5) fails every container on this kernel ("can't get final child's PID
# from pipe: EOF"); the module's runc, built with seccomp (libseccomp-dev), works.
RUNC_VERSION=v1.4.4
# Built binaries live outside the clone, keyed by component and version.
CLUSTER_CACHE="${UDP_CLUSTER_CACHE:-/var/cache/udev-device-plugin/cluster}"
