// Prints the hand-built sample record, so the schema test can validate a record with every
// field filled (this machine's own has no USB serials, NUMA nodes or CDI resources).

#include <cstdio>

#include "governance/json_pretty.h"
#include "sample_inputs.h"

int main() {
  udp::governance::testing::Sample sample;
  udp::governance::testing::fillSample(sample);
  std::fputs(udp::governance::prettyJson(
                 udp::governance::describeJson(sample.inputs, sample.process, sample.build))
                 .c_str(),
             stdout);
  return 0;
}
