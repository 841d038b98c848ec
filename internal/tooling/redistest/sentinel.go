package redistest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name StartSentinel's sentinels monitor the master under.
const MasterName = "mymaster"

// Sentinel is a master and its replicas watched by three sentinels (quorum 2), which fail
// over half a second after the master stops answering.
type Sentinel struct {
	// Addrs are the sentinels' addresses.
	Addrs []string
	// Data are the data servers: Data[0] started as the master, the others as its replicas.
	Data      []*Server
	sentinels []*Server
}

// StartSentinel runs a master, replicas replicas (at least 1) and three sentinels until the
// test ends, and returns them once every replica is in sync and every sentinel knows the
// replicas and the other sentinels.
func StartSentinel(t testing.TB, replicas int) *Sentinel {
	t.Helper()
	s := &Sentinel{}
	s.Data = append(s.Data, start(t, t.TempDir(), nil))
	for range max(replicas, 1) {
		s.Data = append(s.Data, start(t, t.TempDir(), func() []string {
			return []string{"--replicaof", "127.0.0.1", fmt.Sprint(s.Data[0].Port)}
		}))
	}
	for range 3 {
		dir, port := t.TempDir(), FreePort(t)
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds %[3]s 500\n"+
			"sentinel failover-timeout %[3]s 2000\n"+
			"sentinel parallel-syncs %[3]s 1\n", port, dir, MasterName, s.Data[0].Port)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		sn := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, bin: binary(t), dir: dir,
			args: []string{conf, "--sentinel"}}
		sn.run(t)
		t.Cleanup(sn.Stop)
		s.sentinels = append(s.sentinels, sn)
		s.Addrs = append(s.Addrs, sn.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, d := range s.Data[1:] {
		replica := redis.NewClient(&redis.Options{Addr: d.Addr, DisableIdentity: true})
		Poll(t, 20*time.Second, "replica in sync", func() bool {
			info, err := replica.Info(ctx, "replication").Result()
			return err == nil && strings.Contains(info, "master_link_status:up")
		})
		_ = replica.Close()
	}
	Poll(t, 20*time.Second, "sentinels know the replica and each other", func() bool {
		for _, a := range s.Addrs {
			sc := redis.NewSentinelClient(&redis.Options{Addr: a, DisableIdentity: true})
			replicas, err1 := sc.Replicas(ctx, MasterName).Result()
			others, err2 := sc.Sentinels(ctx, MasterName).Result()
			_ = sc.Close()
			if err1 != nil || err2 != nil || len(replicas) != len(s.Data)-1 || len(others) != 2 {
				return false
			}
		}
		return true
	})
	return s
}

// Master returns the address the sentinels name as the master now ("" when they cannot
// answer).
func (s *Sentinel) Master(ctx context.Context) string {
	for _, a := range s.Addrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: a, DisableIdentity: true})
		got, err := sc.GetMasterAddrByName(ctx, MasterName).Result()
		_ = sc.Close()
		if err == nil && len(got) == 2 {
			return got[0] + ":" + got[1]
		}
	}
	return ""
}

// DataServer returns the data server at addr (nil if none).
func (s *Sentinel) DataServer(addr string) *Server {
	for _, d := range s.Data {
		if d.Addr == addr {
			return d
		}
	}
	return nil
}

// WaitFailover polls the sentinels until a majority of them name a master other than old,
// and returns it; the test fails after within.
func (s *Sentinel) WaitFailover(t testing.TB, old string, within time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var promoted string
	Poll(t, within, "sentinel failover away from "+old, func() bool {
		votes := map[string]int{}
		for _, a := range s.Addrs {
			sc := redis.NewSentinelClient(&redis.Options{Addr: a, DisableIdentity: true})
			got, err := sc.GetMasterAddrByName(ctx, MasterName).Result()
			_ = sc.Close()
			if err == nil && len(got) == 2 {
				votes[got[0]+":"+got[1]]++
			}
		}
		for addr, n := range votes {
			if addr != old && n >= 2 {
				promoted = addr
				return true
			}
		}
		return false
	})
	return promoted
}
