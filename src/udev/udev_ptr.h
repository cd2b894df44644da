#pragma once

// Owning handles for libudev objects (DESIGN.md §5.3). Each owns one reference and drops it once;
// copy a handle by taking another reference explicitly with the matching `ref` helper.

#include <libudev.h>

#include <memory>

namespace udp::udev {

namespace detail {
template <auto Unref>
struct Unreffer {
  template <typename T>
  void operator()(T* p) const noexcept {
    Unref(p);
  }
};
}  // namespace detail

using UdevPtr = std::unique_ptr<::udev, detail::Unreffer<&udev_unref>>;
using UdevDevicePtr = std::unique_ptr<udev_device, detail::Unreffer<&udev_device_unref>>;
using UdevMonitorPtr = std::unique_ptr<udev_monitor, detail::Unreffer<&udev_monitor_unref>>;
using UdevEnumeratePtr = std::unique_ptr<udev_enumerate, detail::Unreffer<&udev_enumerate_unref>>;

// Takes a new reference on a borrowed device, e.g. one returned by udev_device_get_parent, whose
// lifetime is otherwise tied to its child.
inline UdevDevicePtr refDevice(udev_device* device) {
  return UdevDevicePtr(device != nullptr ? udev_device_ref(device) : nullptr);
}

}  // namespace udp::udev
