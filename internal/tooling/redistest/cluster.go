package redistest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a running Redis Cluster of masters without replicas, each owning an equal
// range of the 16384 slots. Its nodes run with cluster-require-full-coverage no, so that a
// dead master fails only its own slots (see Kill).
type Cluster struct {
	// Addrs are the masters' addresses, in slot order.
	Addrs []string
	// Nodes are the masters; Nodes[i] owns Slots[i].
	Nodes []*Server
	// Slots are the inclusive slot ranges of the masters.
	Slots [][2]int
}

// StartCluster runs a Cluster of n masters (cluster bus on ports of their own) until the test
// ends, and returns it once every node reports cluster_state:ok and knows every other.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{}
	for i := range n {
		s := start(t, t.TempDir(), func() []string {
			return []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-port", fmt.Sprint(FreePort(t)), "--cluster-node-timeout", "1000",
				"--cluster-require-full-coverage", "no"}
		})
		c.Nodes = append(c.Nodes, s)
		c.Addrs = append(c.Addrs, s.Addr)
		c.Slots = append(c.Slots, [2]int{i * 16384 / n, (i+1)*16384/n - 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients := make([]*redis.Client, n)
	for i, s := range c.Nodes {
		clients[i] = redis.NewClient(&redis.Options{Addr: s.Addr, DisableIdentity: true})
		defer func() { _ = clients[i].Close() }()
		if err := clients[i].Do(ctx, "CLUSTER", "ADDSLOTSRANGE", c.Slots[i][0], c.Slots[i][1]).Err(); err != nil {
			t.Fatalf("cluster node %s: ADDSLOTSRANGE: %v", s.Addr, err)
		}
	}
	for _, s := range c.Nodes[1:] {
		bus, err := busPort(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := clients[0].Do(ctx, "CLUSTER", "MEET", "127.0.0.1", s.Port, bus).Err(); err != nil {
			t.Fatalf("CLUSTER MEET %s: %v", s.Addr, err)
		}
	}
	// The gossip converges on its own; there is nothing to be told, so the state is polled.
	want := fmt.Sprintf("cluster_known_nodes:%d", n)
	Poll(t, 20*time.Second, "cluster state ok on every node", func() bool {
		for _, cl := range clients {
			info, err := cl.ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, want) ||
				!strings.Contains(info, "cluster_slots_ok:16384") {
				return false
			}
		}
		return true
	})
	return c
}

// busPort reads the cluster bus port s was started with.
func busPort(s *Server) (int, error) {
	for i, a := range s.args {
		if a == "--cluster-port" && i+1 < len(s.args) {
			var p int
			_, err := fmt.Sscan(s.args[i+1], &p)
			return p, err
		}
	}
	return 0, fmt.Errorf("%s: no cluster port", s.Addr)
}

// Owner returns the index of the master owning key's slot.
func (c *Cluster) Owner(key string) int {
	slot := Slot(key)
	for i, r := range c.Slots {
		if slot >= r[0] && slot <= r[1] {
			return i
		}
	}
	return -1
}

// Slot is key's Cluster hash slot (CRC16 of the key, or of its {hash tag}, mod 16384).
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for k := 0; k < len(key); k++ {
		crc ^= uint16(key[k]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

// Poll calls cond until it holds, failing the test after within: for states no process
// signals (gossip, failover). Its pause between calls is short and the deadline bounded.
func Poll(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
