// The Prometheus Operator's module, for its ServiceMonitor and
// PrometheusRule CRDs (example/prometheus-operator-crd), which the
// end-to-end suite installs to dry-run the monitoring objects of the chart
// and the kustomize component. A module of its own: nothing of it is built.
module github.com/kubemetrics/metrics-server/hack/tools/prometheus-operator

go 1.26.0

require github.com/prometheus-operator/prometheus-operator v0.92.1

require (
	github.com/alecthomas/kingpin/v2 v2.4.0 // indirect
	github.com/alecthomas/units v0.0.0-20240927000941-0f3dac36c52b // indirect
	github.com/prometheus/common v0.69.0 // indirect
	github.com/xhit/go-str2duration/v2 v2.1.0 // indirect
)
