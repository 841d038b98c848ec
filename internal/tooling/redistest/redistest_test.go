package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStartStop(t *testing.T) {
	s := Start(t)
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	s.Stop()
	if c, err := net.Dial("tcp", s.Addr); err == nil {
		c.Close()
		t.Fatal("still listening after Stop")
	}
	s.Restart(t)
	if c, err := net.Dial("tcp", s.Addr); err != nil {
		t.Fatal("not listening after Restart")
	} else {
		c.Close()
	}
}

// TestCluster: the three masters serve every slot, and Owner/Slot agree with the server.
func TestCluster(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs, DisableIdentity: true})
	defer cc.Close()
	for i := range 30 {
		key := fmt.Sprintf("key-%d", i)
		if i%3 == 0 {
			key = fmt.Sprintf("a{tag-%d}b", i)
		}
		slot, err := cc.ClusterKeySlot(ctx, key).Result()
		if err != nil || int(slot) != Slot(key) {
			t.Fatalf("%s: server slot %d (%v), ours %d", key, slot, err, Slot(key))
		}
		if err := cc.Set(ctx, key, "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		owner := redis.NewClient(&redis.Options{Addr: c.Addrs[c.Owner(key)], DisableIdentity: true})
		got, err := owner.Get(ctx, key).Result()
		owner.Close()
		if err != nil || got != "v" {
			t.Fatalf("%s not on node %d: %q %v", key, c.Owner(key), got, err)
		}
	}
}

// TestSentinelFailover: killing the master promotes the replica.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	s := StartSentinel(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	old := s.Master(ctx)
	if old != s.Data[0].Addr {
		t.Fatalf("master %q, want %s", old, s.Data[0].Addr)
	}
	began := time.Now()
	s.Data[0].Stop()
	if got := s.WaitFailover(t, old, 20*time.Second); got != s.Data[1].Addr {
		t.Fatalf("promoted %q, want %s", got, s.Data[1].Addr)
	}
	t.Logf("failover took %s", time.Since(began))
}

// A server started on a port another redis-server holds is told from it (its INFO gives
// another process id): tryRun reports errPortTaken, where the PING alone would have
// answered for the other server.
func TestPortTakenIsTold(t *testing.T) {
	other := Start(t)
	s := &Server{Addr: other.Addr, Port: other.Port, bin: other.bin, dir: t.TempDir()}
	s.args = []string{"--port", fmt.Sprint(other.Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", s.dir}
	err := s.tryRun()
	s.Stop()
	if !errors.Is(err, errPortTaken) {
		t.Fatalf("tryRun on a taken port: %v, want errPortTaken", err)
	}
	if pid, err := other.processID(); err != nil || pid != other.cmd.Process.Pid {
		t.Fatalf("the first server's process id: %d, %v; want %d", pid, err, other.cmd.Process.Pid)
	}
}
