// Package redistest starts real redis-server processes for tests: single servers over
// TCP, a unix socket or TLS, a server with ACL users, and clusters with replicas, over
// plain TCP or TLS (StartTLSCluster, and StartTLSClusterWithPlain whose nodes also
// listen on plain ports), each on free loopback ports in a temporary directory, over
// internal/localredis.
//
// Every Start function skips the test when redis-server is missing (RequireRedis),
// unless RCLI_REQUIRE_REDIS=1 makes that a failure, as CI does. Each registers a
// t.Cleanup that stops the servers it started, by PID, and writes their logs with t.Log
// when the test failed. Readiness is polled (PING; for a cluster, cluster_state:ok and
// every replica's master_link_status:up), never slept for.
//
// It is test-only: production code never imports it. It owns test certificates and
// users; launching, stopping and cluster building belong to internal/localredis.
//
// A package whose tests only read and write can share one cluster from TestMain:
//
//	func TestMain(m *testing.M) {
//		if !redistest.RedisAvailable() {
//			if redistest.RedisRequired() {
//				fmt.Fprintln(os.Stderr, "RCLI_REQUIRE_REDIS=1 but redis-server is missing")
//				os.Exit(1)
//			}
//			os.Exit(m.Run()) // the tests skip themselves
//		}
//		c, stop, err := redistest.StartClusterMain(3, 1)
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		shared = c
//		code := m.Run()
//		stop()
//		os.Exit(code)
//	}
package redistest
