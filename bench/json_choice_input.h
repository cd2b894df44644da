#pragma once

// The inputs of bench/json_choice.cc and bench/json_size.cc: objects shaped as a 1.34 API server
// sends them (managedFields, owner references, annotations included, since a parser pays for
// skipping them too).

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace udp::bench {

inline std::string uid(int n, int salt) {
  char text[40];
  std::snprintf(text, sizeof text, "%08x-1b2c-4d5e-8f90-%012x", 0x5eed0000 + n, salt * 7919 + n);
  return text;
}

inline std::string claimObject(int n) {
  const std::string pod = "worker-" + std::to_string(n);
  const std::string rv = std::to_string(48213 + n);
  return R"({"metadata":{"name":")" + pod + R"(-serial-x7k2p","generateName":")" + pod +
         R"(-serial-","namespace":"default","uid":")" + uid(n, 1) + R"(","resourceVersion":")" +
         rv +
         R"(","creationTimestamp":"2025-09-01T10:00:00Z","annotations":{"resource.kubernetes.io/pod-claim-name":"serial"},"ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":")" +
         pod + R"(","uid":")" + uid(n, 2) +
         R"(","controller":true,"blockOwnerDeletion":true}],"finalizers":["resource.kubernetes.io/delete-protection"],"managedFields":[{"manager":"kube-controller-manager","operation":"Update","apiVersion":"resource.k8s.io/v1","time":"2025-09-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:annotations":{".":{},"f:resource.kubernetes.io/pod-claim-name":{}},"f:generateName":{},"f:ownerReferences":{".":{},"k:{\"uid\":\")" +
         uid(n, 2) +
         R"(\"}":{}}},"f:spec":{"f:devices":{"f:requests":{}}}}},{"manager":"kube-scheduler","operation":"Update","apiVersion":"resource.k8s.io/v1","time":"2025-09-01T10:00:01Z","fieldsType":"FieldsV1","fieldsV1":{"f:status":{"f:allocation":{".":{},"f:devices":{".":{},"f:results":{}},"f:nodeSelector":{}},"f:reservedFor":{}}},"subresource":"status"}]},"spec":{"devices":{"requests":[{"name":"serial","exactly":{"deviceClassName":"serial.example.com","selectors":[{"cel":{"expression":"device.attributes[\"udev.example.com\"].vendorId == \"0403\""}}],"allocationMode":"ExactCount","count":1}}]}},"status":{"allocation":{"devices":{"results":[{"request":"serial","driver":"udev.example.com","pool":"node-1","device":"serial-a1b2c3-)" +
         std::to_string(n) +
         R"("}]},"nodeSelector":{"nodeSelectorTerms":[{"matchFields":[{"key":"metadata.name","operator":"In","values":["node-1"]}]}]},"allocationTimestamp":"2025-09-01T10:00:01Z"},"reservedFor":[{"resource":"pods","name":")" +
         pod + R"(","uid":")" + uid(n, 2) + R"("}]}})";
}

inline std::string claimList(int count) {
  std::string out =
      R"({"kind":"ResourceClaimList","apiVersion":"resource.k8s.io/v1","metadata":{"resourceVersion":"99999"},"items":[)";
  for (int i = 0; i < count; ++i) {
    if (i > 0) out += ',';
    out += claimObject(i);
  }
  out += "]}";
  return out;
}

// One event per line, as a watch sends them; every tenth a bookmark.
inline std::vector<std::string> watchEvents(int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    if (i % 10 == 9) {
      out.push_back(
          R"({"type":"BOOKMARK","object":{"kind":"ResourceClaim","apiVersion":"resource.k8s.io/v1","metadata":{"resourceVersion":")" +
          std::to_string(50000 + i) +
          R"(","creationTimestamp":null,"annotations":{"k8s.io/initial-events-end":"true"}},"spec":{"devices":{}},"status":{}}})");
    } else {
      out.push_back(R"({"type":"MODIFIED","object":)" + claimObject(i) + "}");
    }
  }
  return out;
}

struct SliceDevice {
  std::string name;
  std::map<std::string, std::string> attributes;
  int numaNode = 0;
};

inline std::vector<SliceDevice> sliceDevices(int count) {
  std::vector<SliceDevice> out;
  for (int i = 0; i < count; ++i) {
    const std::string k = std::to_string(i);
    out.push_back({"serial-ftdi-ft232r-usb-uart-a1b2c3" + k,
                   {{"resource", "example.com/serial"},
                    {"subsystem", "tty"},
                    {"kernel", "ttyUSB" + k},
                    {"devnode", "/dev/ttyUSB" + k},
                    {"driver", "ftdi_sio"},
                    {"vendorId", "0403"},
                    {"productId", "6001"},
                    {"vendor", "Future Technology Devices International, Ltd"},
                    {"model", "FT232 Serial (UART) IC"},
                    {"serial", "A1B2C3" + k},
                    {"idPath", "pci-0000:00:14.0-usb-0:" + k + ":1.0"}},
                   i % 2});
  }
  return out;
}

}  // namespace udp::bench
