#pragma once

#include <string>
#include <vector>

namespace udp::http2 {

struct Header {
  std::string name;
  std::string value;
};
using Headers = std::vector<Header>;

}  // namespace udp::http2
