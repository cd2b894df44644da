#pragma once

// Hand-built DeviceRecords for the pure udev tests: a USB serial adapter's tty under a PCI
// controller, as libudev would describe it.

#include <memory>

#include "udev/device_record.h"

namespace udp::udev::testing {

// levels: [0] tty/ttyUSB0, [1] usb-serial ttyUSB0, [2] usb interface 1-1:1.0,
// [3] usb device 1-1, [4] PCI controller 0000:00:14.0
inline DeviceRecord usbSerialRecord() {
  DeviceRecord r;
  r.syspath = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/ttyUSB0/tty/ttyUSB0";
  r.devpath = r.syspath.substr(4);
  r.subsystem = "tty";
  r.sysname = "ttyUSB0";
  r.devnode = "/dev/ttyUSB0";
  r.driver = "ftdi_sio";
  r.properties = {{"ID_VENDOR_ID", "0403"},
                  {"ID_MODEL_ID", "6001"},
                  {"ID_SERIAL", "FTDI_FT232R_USB_UART_A1B2C3"},
                  {"ID_SERIAL_SHORT", "A1B2C3"},
                  {"ID_PATH", "pci-0000:00:14.0-usb-0:1:1.0"},
                  {"DEVNAME", "/dev/ttyUSB0"}};
  r.devlinks = {"/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A1B2C3-if00-port0",
                "/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0"};
  r.attributes = std::make_shared<MapAttributeReader>(std::vector<MapAttributeReader::Attributes>{
      {{"close_delay", "50\n"}, {"type", "4\n"}},
      {{"port_number", "0\n"}},
      {{"bInterfaceNumber", "00\n"}},
      {{"idVendor", "0403\n"}, {"idProduct", "6001\n"}, {"serial", "A1B2C3\n"}},
      {{"vendor", "0x8086\n"}, {"numa_node", "1\n"}},
  });
  return r;
}

// A block device without serial or path: its ID falls back to the kernel name.
inline DeviceRecord plainRecord(const std::string& sysname,
                                const std::string& subsystem = "block") {
  DeviceRecord r;
  r.syspath = "/sys/devices/virtual/" + subsystem + "/" + sysname;
  r.devpath = r.syspath.substr(4);
  r.subsystem = subsystem;
  r.sysname = sysname;
  r.devnode = "/dev/" + sysname;
  r.devtype = "disk";
  r.attributes = std::make_shared<MapAttributeReader>(
      std::vector<MapAttributeReader::Attributes>{{{"size", "0\n"}}});
  return r;
}

}  // namespace udp::udev::testing
