#include "udev/udev_scan.h"

#include <errno.h>

#include <string_view>

#include "udev/device_tracker.h"
#include "udev/udev_device_source.h"
#include "udev/udev_ptr.h"
#include "udev/udev_record.h"

namespace udp::udev {
namespace {

// The tracker keeps the state scanOnce reads back; nothing needs to hear about each change.
class NullSink final : public plugin::DeviceSink {
 public:
  void upsertDevice(std::string_view, plugin::Device) override {}
  void removeDevice(std::string_view, std::string_view) override {}
};

}  // namespace

Result<std::vector<DeviceRecord>> scanRecords(const config::Config& config) {
  UdevPtr context(udev_new());
  if (!context) return makeError(-ENOMEM, "udev_new failed");
  Result<std::vector<std::string>> syspaths = enumerateSyspaths(*context, config.resources);
  if (!syspaths) return syspaths.error();

  // Read the devices as the daemon would, so the IDs listed are the ones it advertises.
  PropertySource properties = std::string_view(resolveSource(config.udevSource)) == "kernel"
                                  ? PropertySource::kUeventFile
                                  : PropertySource::kLibudev;
  std::vector<DeviceRecord> out;
  for (const std::string& syspath : *syspaths) {
    UdevDevicePtr device(udev_device_new_from_syspath(context.get(), syspath.c_str()));
    if (device) out.push_back(recordFromUdev(device.get(), properties));  // else gone
  }
  return out;
}

Result<std::vector<ScannedDevice>> scanOnce(const config::Config& config) {
  Result<std::vector<DeviceRecord>> records = scanRecords(config);
  if (!records) return records.error();
  DeviceTracker tracker(config.resources);
  NullSink sink;
  for (const DeviceRecord& record : *records) tracker.update(record, sink);

  std::vector<ScannedDevice> out;
  for (const config::Resource& resource : config.resources) {
    for (plugin::Device& device : tracker.devices(resource.name)) {
      out.push_back(ScannedDevice{resource.name, std::move(device)});
    }
  }
  return out;
}

}  // namespace udp::udev
