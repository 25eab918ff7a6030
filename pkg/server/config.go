package server

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/kubemetrics/metrics-server/pkg/version"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/metadata/metadatalister"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/kubemetrics/metrics-server/pkg/api"
	generatedopenapi "github.com/kubemetrics/metrics-server/pkg/api/generated/openapi"
	"github.com/kubemetrics/metrics-server/pkg/scraper"
	"github.com/kubemetrics/metrics-server/pkg/servingcert"
	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// Config is everything a Server needs, from validated options.
type Config struct {
	Apiserver *genericapiserver.Config
	// Rest reaches the cluster's API server, for the informers.
	Rest *rest.Config

	Kubelet               scraper.ClientConfig
	KubeletTransport      http.RoundTripper
	KubeletRequestTimeout time.Duration
	// ScrapeConcurrency bounds kubelet requests in flight.
	ScrapeConcurrency int

	MetricResolution time.Duration
	NodeSelector     labels.Selector
	// StorePoints is how many points each series keeps.
	StorePoints int
	// StaleAfter is how long a node that cannot be scraped stays served.
	StaleAfter time.Duration
	// MetricsBindAddress, when set, serves /metrics over plain HTTP there,
	// without authentication or authorization, for Prometheus.
	MetricsBindAddress string
	// ServingCA, when set, issues the serving certificate and keeps its CA
	// in the APIServices' caBundle while the server runs.
	ServingCA *servingcert.Controller

	Clock clock.WithTicker
}

var podsResource = corev1.SchemeGroupVersion.WithResource("pods")

// New builds the server: informers, store, scraper and API.
func (c *Config) New() (*Server, error) {
	registerMetrics()
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	restCfg := rest.CopyConfig(c.Rest)
	restCfg.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	metadataClient, err := metadata.NewForConfig(c.Rest)
	if err != nil {
		return nil, fmt.Errorf("creating the metadata client: %w", err)
	}
	nodeFactory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(trimNode))
	nodeInformer := nodeFactory.Core().V1().Nodes()
	podFactory := metadatainformer.NewFilteredSharedInformerFactory(metadataClient, 0, corev1.NamespaceAll,
		func(o *metav1.ListOptions) { o.FieldSelector = "status.phase=Running" })
	podInformer := podFactory.ForResource(podsResource)
	if err := podInformer.Informer().SetTransform(trimPod); err != nil {
		return nil, fmt.Errorf("setting the pod transform: %w", err)
	}

	store := storage.New(storage.Config{
		Points:     c.StorePoints,
		Resolution: c.MetricResolution,
		StaleAfter: c.StaleAfter,
		Clock:      c.Clock,
	})
	nodeLister := nodeInformer.Lister()
	selected := func() ([]*corev1.Node, error) { return nodeLister.List(c.NodeSelector) }
	s := &Server{
		nodeFactory: nodeFactory,
		podFactory:  podFactory,
		nodesSynced: nodeInformer.Informer().HasSynced,
		podsSynced:  podInformer.Informer().HasSynced,
		store:       store,
		resolution:  c.MetricResolution,
		clock:       c.Clock,
		metricsAddr: c.MetricsBindAddress,
		scraper: scraper.New(scraper.Config{
			Client:         scraper.NewClient(c.Kubelet, c.KubeletTransport),
			Nodes:          selected,
			Sink:           store,
			RequestTimeout: c.KubeletRequestTimeout,
			Concurrency:    c.ScrapeConcurrency,
			StaggerPerNode: 8 * time.Millisecond,
			MaxStagger:     4 * time.Second,
			Clock:          c.Clock,
		}),
		nodes: func() ([]string, error) {
			nodes, err := selected()
			names := make([]string, len(nodes))
			for i, n := range nodes {
				names[i] = n.Name
			}
			return names, err
		},
	}

	gc := c.Apiserver
	if c.ServingCA != nil && gc.SecureServing != nil {
		// Published once the server listens; see servingcert.Controller.Start.
		// Not a post-start hook: each hook adds a line to the verbose health
		// output, which must read as upstream's.
		listener := &acceptNotifier{Listener: gc.SecureServing.Listener, accepting: make(chan struct{})}
		gc.SecureServing.Listener = listener
		s.servingCA, s.serving = c.ServingCA, listener.accepting
	}
	title, ver := "Kubernetes metrics-server", strings.Split(version.Get().GitVersion, "-")[0]
	gc.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, openapi.NewDefinitionNamer(api.Scheme))
	gc.OpenAPIConfig.Info.Title, gc.OpenAPIConfig.Info.Version = title, ver
	gc.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, openapi.NewDefinitionNamer(api.Scheme))
	gc.OpenAPIV3Config.Info.Title, gc.OpenAPIV3Config.Info.Version = title, ver
	// Pod lists encode themselves unless the answer is to be transformed.
	gc.BuildHandlerChainFunc = func(apiHandler http.Handler, c *genericapiserver.Config) http.Handler {
		return genericapiserver.DefaultBuildHandlerChain(api.WithTransformedAnswers(apiHandler), c)
	}
	generic, err := gc.Complete(nil).New("metrics-server", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, fmt.Errorf("creating the API server: %w", err)
	}
	// Added after New, like upstream, so the verbose probe output lists
	// them after the generic post-start hooks, in this order.
	if err := errors.Join(
		generic.AddReadyzChecks(s.readyzChecks()...),
		generic.AddLivezChecks(0, s.livezChecks()...),
		generic.AddHealthChecks(s.healthChecks()...),
	); err != nil {
		return nil, fmt.Errorf("adding health checks: %w", err)
	}
	podLister := metadatalister.New(podInformer.Informer().GetIndexer(), podsResource)
	podStorage := api.NewPodStorage(store, podLister, c.Clock)
	// The shared all-pods list holds the Running pods and their labels;
	// only changes to those make it stale (status updates do not).
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { podStorage.PodsChanged() },
		DeleteFunc: func(any) { podStorage.PodsChanged() },
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*metav1.PartialObjectMetadata)
			n, ok2 := cur.(*metav1.PartialObjectMetadata)
			if !ok1 || !ok2 || !maps.Equal(o.Labels, n.Labels) {
				podStorage.PodsChanged()
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("watching pods: %w", err)
	}
	if err := api.Install(generic, api.NewNodeStorage(store, nodeLister, c.NodeSelector, c.Clock), podStorage); err != nil {
		return nil, fmt.Errorf("installing metrics.k8s.io: %w", err)
	}
	s.generic = generic
	return s, nil
}

// trimNode keeps only what the scraper and the API read of a Node, so a
// large cluster's node cache stays small (images alone can be kilobytes).
func trimNode(obj any) (any, error) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	trimmed := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:              node.Name,
			UID:               node.UID,
			ResourceVersion:   node.ResourceVersion,
			Labels:            node.Labels,
			CreationTimestamp: node.CreationTimestamp,
			DeletionTimestamp: node.DeletionTimestamp,
		},
		Status: corev1.NodeStatus{
			Addresses:       node.Status.Addresses,
			DaemonEndpoints: node.Status.DaemonEndpoints,
		},
	}
	for _, t := range node.Spec.Taints {
		if scraper.IsTerminatingTaint(t.Key) {
			trimmed.Spec.Taints = append(trimmed.Spec.Taints, corev1.Taint{Key: t.Key, Effect: t.Effect})
		}
	}
	if p, ok := node.Annotations[scraper.ResourceMetricsPathAnnotation]; ok {
		trimmed.Annotations = map[string]string{scraper.ResourceMetricsPathAnnotation: p}
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			trimmed.Status.Conditions = []corev1.NodeCondition{{Type: c.Type, Status: c.Status, LastTransitionTime: c.LastTransitionTime}}
		}
	}
	return trimmed, nil
}

// trimPod keeps the name, namespace and labels of a pod's metadata.
func trimPod(obj any) (any, error) {
	pod, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta: pod.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:              pod.Name,
			Namespace:         pod.Namespace,
			UID:               pod.UID,
			ResourceVersion:   pod.ResourceVersion,
			Labels:            pod.Labels,
			CreationTimestamp: pod.CreationTimestamp,
		},
	}, nil
}
