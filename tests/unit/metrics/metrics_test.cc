// The Prometheus exposition of Metrics, byte for byte: HELP/TYPE lines, label escaping,
// cumulative histogram buckets, and the endpoints that serve it.

#include "metrics/metrics.h"

#include <doctest/doctest.h>

#include <limits>

#include "metrics/endpoints.h"

using namespace udp::metrics;

TEST_CASE("a fresh Metrics renders only the label-less families") {
  Metrics m("0.1.0", "abc123");
  m.setProcessStartTime(1700000000);
  CHECK(m.renderPrometheus() ==
        "# HELP udev_device_plugin_kubelet_restarts_total Kubelet restarts seen (kubelet.sock "
        "re-created).\n"
        "# TYPE udev_device_plugin_kubelet_restarts_total counter\n"
        "udev_device_plugin_kubelet_restarts_total 0\n"
        "# HELP udev_device_plugin_rescans_total Full device rescans after lost events.\n"
        "# TYPE udev_device_plugin_rescans_total counter\n"
        "udev_device_plugin_rescans_total 0\n"
        "# HELP udev_device_plugin_build_info The running plugin's version and commit; always 1.\n"
        "# TYPE udev_device_plugin_build_info gauge\n"
        "udev_device_plugin_build_info{version=\"0.1.0\",commit=\"abc123\"} 1\n"
        "# HELP udev_device_plugin_reactor_turns_total Event loop iterations.\n"
        "# TYPE udev_device_plugin_reactor_turns_total counter\n"
        "udev_device_plugin_reactor_turns_total 0\n"
        "# HELP process_start_time_seconds Start time of the process since unix epoch in "
        "seconds.\n"
        "# TYPE process_start_time_seconds gauge\n"
        "process_start_time_seconds 1700000000\n");
}

TEST_CASE("a populated Metrics renders exactly") {
  Metrics m("1.2.3", "dirty\"tree\\x");
  m.setProcessStartTime(1700000000.25);
  m.setDevices("example.com/b", 3, 0);
  m.setDevices("example.com/a", 2, 1);
  m.setDevices("example.com/a", 2, 2);  // replaces
  m.allocation("example.com/a", "ok");
  m.allocation("example.com/a", "ok");
  m.allocation("example.com/a", "unknown_device");
  // Powers of two, so that the sum prints exactly.
  m.observeAllocate("example.com/a", 0.000030517578125);  // 2^-15: the first bucket
  m.observeAllocate("example.com/a", 0.000244140625);     // 2^-12: le 0.00025
  m.observeAllocate("example.com/a", 2);                  // only +Inf
  m.preStart("example.com/a", "ok");
  m.registration("example.com/a", true);
  m.registration("example.com/a", false);
  m.kubeletRestart();
  m.uevent("add");
  m.uevent("add");
  m.uevent("surprise");
  m.rescan();
  m.setStreams("example.com/a", 1);
  m.setRegistered("example.com/a", true);
  m.setRegistered("we\"ird\\na\nme", false);
  m.setReactorTurns(42);

  const std::string histogram = "udev_device_plugin_allocate_duration_seconds";
  CHECK(
      m.renderPrometheus() ==
      "# HELP udev_device_plugin_devices Devices advertised to the kubelet, by resource and "
      "health.\n"
      "# TYPE udev_device_plugin_devices gauge\n"
      "udev_device_plugin_devices{resource=\"example.com/a\",health=\"healthy\"} 2\n"
      "udev_device_plugin_devices{resource=\"example.com/a\",health=\"unhealthy\"} 2\n"
      "udev_device_plugin_devices{resource=\"example.com/b\",health=\"healthy\"} 3\n"
      "udev_device_plugin_devices{resource=\"example.com/b\",health=\"unhealthy\"} 0\n"
      "# HELP udev_device_plugin_allocations_total Allocate requests answered, by resource and "
      "result.\n"
      "# TYPE udev_device_plugin_allocations_total counter\n"
      "udev_device_plugin_allocations_total{resource=\"example.com/a\",result=\"ok\"} 2\n"
      "udev_device_plugin_allocations_total{resource=\"example.com/a\",result=\"unknown_"
      "device\"} 1\n"
      "# HELP " +
          histogram +
          " Time to answer an Allocate request, in seconds.\n"
          "# TYPE " +
          histogram + " histogram\n" + histogram +
          "_bucket{resource=\"example.com/a\",le=\"5e-05\"} 1\n" + histogram +
          "_bucket{resource=\"example.com/a\",le=\"0.0001\"} 1\n" + histogram +
          "_bucket{resource=\"example.com/a\",le=\"0.00025\"} 2\n" + histogram +
          "_bucket{resource=\"example.com/a\",le=\"0.0005\"} 2\n" + histogram +
          "_bucket{resource=\"example.com/a\",le=\"0.001\"} 2\n" + histogram +
          "_bucket{resource=\"example.com/a\",le=\"0.0025\"} 2\n" + histogram +
          "_bucket{resource=\"example.com/a\",le=\"0.005\"} 2\n" + histogram +
          "_bucket{resource=\"example.com/a\",le=\"0.01\"} 2\n" + histogram +
          "_bucket{resource=\"example.com/a\",le=\"0.1\"} 2\n" + histogram +
          "_bucket{resource=\"example.com/a\",le=\"1\"} 2\n" + histogram +
          "_bucket{resource=\"example.com/a\",le=\"+Inf\"} 3\n" + histogram +
          "_sum{resource=\"example.com/a\"} 2.000274658203125\n" + histogram +
          "_count{resource=\"example.com/a\"} 3\n"
          "# HELP udev_device_plugin_prestart_total PreStartContainer requests answered, by "
          "resource and result.\n"
          "# TYPE udev_device_plugin_prestart_total counter\n"
          "udev_device_plugin_prestart_total{resource=\"example.com/a\",result=\"ok\"} 1\n"
          "# HELP udev_device_plugin_registrations_total Register calls to the kubelet, by "
          "resource and result.\n"
          "# TYPE udev_device_plugin_registrations_total counter\n"
          "udev_device_plugin_registrations_total{resource=\"example.com/a\",result=\"failed\"} 1\n"
          "udev_device_plugin_registrations_total{resource=\"example.com/a\",result=\"ok\"} 1\n"
          "# HELP udev_device_plugin_kubelet_restarts_total Kubelet restarts seen (kubelet.sock "
          "re-created).\n"
          "# TYPE udev_device_plugin_kubelet_restarts_total counter\n"
          "udev_device_plugin_kubelet_restarts_total 1\n"
          "# HELP udev_device_plugin_uevents_total Device events received, by action.\n"
          "# TYPE udev_device_plugin_uevents_total counter\n"
          "udev_device_plugin_uevents_total{action=\"add\"} 2\n"
          "udev_device_plugin_uevents_total{action=\"other\"} 1\n"
          "# HELP udev_device_plugin_rescans_total Full device rescans after lost events.\n"
          "# TYPE udev_device_plugin_rescans_total counter\n"
          "udev_device_plugin_rescans_total 1\n"
          "# HELP udev_device_plugin_listandwatch_streams Open ListAndWatch streams, by resource.\n"
          "# TYPE udev_device_plugin_listandwatch_streams gauge\n"
          "udev_device_plugin_listandwatch_streams{resource=\"example.com/a\"} 1\n"
          "# HELP udev_device_plugin_registered 1 while the resource is registered with the "
          "kubelet.\n"
          "# TYPE udev_device_plugin_registered gauge\n"
          "udev_device_plugin_registered{resource=\"example.com/a\"} 1\n"
          "udev_device_plugin_registered{resource=\"we\\\"ird\\\\na\\nme\"} 0\n"
          "# HELP udev_device_plugin_build_info The running plugin's version and commit; always "
          "1.\n"
          "# TYPE udev_device_plugin_build_info gauge\n"
          "udev_device_plugin_build_info{version=\"1.2.3\",commit=\"dirty\\\"tree\\\\x\"} 1\n"
          "# HELP udev_device_plugin_reactor_turns_total Event loop iterations.\n"
          "# TYPE udev_device_plugin_reactor_turns_total counter\n"
          "udev_device_plugin_reactor_turns_total 42\n"
          "# HELP process_start_time_seconds Start time of the process since unix epoch in "
          "seconds.\n"
          "# TYPE process_start_time_seconds gauge\n"
          "process_start_time_seconds 1.70000000025e+09\n");
}

TEST_CASE("bucket bounds are inclusive and NaN observations are ignored") {
  Metrics m("v", "c");
  m.observeAllocate("r", 0.001);  // exactly a bound: counted in it
  m.observeAllocate("r", std::numeric_limits<double>::quiet_NaN());
  std::string text = m.renderPrometheus();
  CHECK(text.find("_bucket{resource=\"r\",le=\"0.0005\"} 0\n") != std::string::npos);
  CHECK(text.find("_bucket{resource=\"r\",le=\"0.001\"} 1\n") != std::string::npos);
  CHECK(text.find("_count{resource=\"r\"} 1\n") != std::string::npos);
  CHECK(text.find("_sum{resource=\"r\"} 0.001\n") != std::string::npos);
}

TEST_CASE("label values that are not UTF-8 are repaired, not emitted raw") {
  Metrics m("v", "c");
  m.setStreams(std::string("a\xff"
                           "b\xc3\xa9"
                           "c\xe2\x82",
                           8),
               1);
  CHECK(m.renderPrometheus().find("{resource=\"a\xef\xbf\xbd"
                                  "b\xc3\xa9"
                                  "c\xef\xbf\xbd\xef\xbf\xbd\"} 1\n") != std::string::npos);
}

TEST_CASE("forgetResource drops gauges and keeps counters") {
  Metrics m("v", "c");
  m.setDevices("r", 1, 0);
  m.setStreams("r", 1);
  m.setRegistered("r", true);
  m.allocation("r", "ok");
  m.forgetResource("r");
  std::string text = m.renderPrometheus();
  CHECK(text.find("udev_device_plugin_devices") == std::string::npos);
  CHECK(text.find("udev_device_plugin_listandwatch_streams") == std::string::npos);
  CHECK(text.find("udev_device_plugin_registered") == std::string::npos);
  CHECK(text.find("udev_device_plugin_allocations_total{resource=\"r\",result=\"ok\"} 1\n") !=
        std::string::npos);
}

TEST_CASE("forgetDraDriver drops the driver's gauges, keeps its counters, until it runs again") {
  Metrics m("v", "c");
  m.setDraState(3, 1, 7, true, 2, 0);
  m.draSlicesPublished(0.01);
  m.forgetDraDriver();
  std::string text = m.renderPrometheus();
  CHECK(text.find("udev_device_plugin_dra_api_connected") == std::string::npos);
  CHECK(text.find("udev_device_plugin_dra_devices") == std::string::npos);
  CHECK(text.find("udev_device_plugin_dra_pool_generation") == std::string::npos);
  CHECK(text.find("udev_device_plugin_dra_slice_rounds_total 1\n") != std::string::npos);
  CHECK(text.find("udev_device_plugin_dra_api_errors_total 2\n") != std::string::npos);
  m.setDraState(4, 1, 8, false, 2, 0);
  text = m.renderPrometheus();
  CHECK(text.find("udev_device_plugin_dra_api_connected 0\n") != std::string::npos);
  CHECK(text.find("udev_device_plugin_dra_devices 4\n") != std::string::npos);
}

TEST_CASE("the endpoint handler") {
  Metrics m("v", "c");
  bool ready = false;
  int refreshed = 0;
  HttpHandler handler = makeEndpointHandler(m, {[&](Metrics& metrics) {
                                                  ++refreshed;
                                                  metrics.setReactorTurns(7);
                                                },
                                                [&] { return ready; },
                                                {}});
  HttpResponse r = handler("GET", "/metrics");
  CHECK(r.status == 200);
  CHECK(r.contentType == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.body.find("udev_device_plugin_reactor_turns_total 7\n") != std::string::npos);
  CHECK(refreshed == 1);
  CHECK(handler("GET", "/healthz").status == 200);
  CHECK(handler("GET", "/readyz").status == 503);
  ready = true;
  CHECK(handler("HEAD", "/readyz").status == 200);
  CHECK(handler("GET", "/nope").status == 404);
  CHECK(makeEndpointHandler(m)("GET", "/readyz").status == 200);
}

TEST_CASE("withheld ListAndWatch lists are counted per resource, once one was") {
  Metrics m("v", "c");
  CHECK(m.renderPrometheus().find("listandwatch_oversize_total") == std::string::npos);
  m.listOversize("example.com/a");
  m.listOversize("example.com/a");
  m.forgetResource("example.com/a");  // a counter: it stays
  CHECK(m.renderPrometheus().find(
            "# TYPE udev_device_plugin_listandwatch_oversize_total counter\n"
            "udev_device_plugin_listandwatch_oversize_total{resource=\"example.com/a\"} 2\n") !=
        std::string::npos);
}

TEST_CASE("components: a gauge and a failures counter, present from their first report") {
  Metrics m("v", "c");
  m.setComponentUp("kubelet_dir_watch", true);
  std::string text = m.renderPrometheus();
  CHECK(text.find("# TYPE udev_device_plugin_component_up gauge\n"
                  "udev_device_plugin_component_up{component=\"kubelet_dir_watch\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("# TYPE udev_device_plugin_component_failures_total counter\n"
                  "udev_device_plugin_component_failures_total{component=\"kubelet_dir_watch\"} "
                  "0\n") != std::string::npos);

  m.componentFailure("kubelet_dir_watch");
  m.componentFailure("device_source");  // a failure before any report of the component
  text = m.renderPrometheus();
  CHECK(text.find("udev_device_plugin_component_up{component=\"device_source\"} 0\n"
                  "udev_device_plugin_component_up{component=\"kubelet_dir_watch\"} 0\n") !=
        std::string::npos);
  CHECK(text.find("udev_device_plugin_component_failures_total{component=\"device_source\"} 1\n"
                  "udev_device_plugin_component_failures_total{component=\"kubelet_dir_watch\"} "
                  "1\n") != std::string::npos);

  m.setComponentUp("kubelet_dir_watch", true);
  text = m.renderPrometheus();
  CHECK(text.find("udev_device_plugin_component_up{component=\"kubelet_dir_watch\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("udev_device_plugin_component_failures_total{component=\"kubelet_dir_watch\"} "
                  "1\n") != std::string::npos);  // counters never go back
}

TEST_CASE("/readyz names what is failing, whatever the ready hook says") {
  Metrics m("v", "c");
  std::string failing;
  EndpointHooks hooks;
  hooks.ready = [] { return true; };
  hooks.failing = [&] { return failing; };
  HttpHandler handler = makeEndpointHandler(m, hooks);
  CHECK(handler("GET", "/readyz").status == 200);
  failing = "kubelet_dir_watch: inotify_add_watch /x: Not a directory";
  HttpResponse r = handler("GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(r.body == "not ready: kubelet_dir_watch: inotify_add_watch /x: Not a directory\n");
  failing.clear();
  CHECK(handler("GET", "/readyz").status == 200);
}

TEST_CASE("gRPC connections the plugin closed, by resource and reason") {
  Metrics m("v", "c");
  CHECK(m.renderPrometheus().find("grpc_connections_closed_total") == std::string::npos);
  m.connectionsClosed("example.com/a", "over_limit", 3);
  m.connectionsClosed("example.com/a", "no_request", 1);
  m.connectionsClosed("example.com/a", "over_limit", 2);
  std::string text = m.renderPrometheus();
  CHECK(text.find("# TYPE udev_device_plugin_grpc_connections_closed_total counter\n"
                  "udev_device_plugin_grpc_connections_closed_total{resource=\"example.com/a\","
                  "result=\"no_request\"} 1\n"
                  "udev_device_plugin_grpc_connections_closed_total{resource=\"example.com/a\","
                  "result=\"over_limit\"} 5\n") != std::string::npos);
}
