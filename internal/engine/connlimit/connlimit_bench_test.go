package connlimit

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// BenchmarkAdmitAtTheCap: one accepted connection and its close with the limiter full of
// idle keep-alive connections (each admission closes the longest idle one), the state a
// flood leaves it in.
func BenchmarkAdmitAtTheCap(b *testing.B) {
	l, clk := testLimiter(Config{Max: 10000, MaxPerClient: 256, IdleTimeoutUnderPressure: time.Hour}, Hooks{})
	for i := range 10000 {
		c, _, _ := l.admit(from(fmt.Sprintf("10.0.%d.%d:1", i/250, i%250)))
		l.ConnState(c, http.StateIdle)
	}
	var clients []*fakeConn
	for i := range 1000 {
		clients = append(clients, from(fmt.Sprintf("192.0.%d.%d:1", 2+i/250, i%250)))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		c, victims, _ := l.admit(clients[i%len(clients)])
		if c == nil || len(victims) != 1 {
			b.Fatalf("admitted %v, %d closed", c != nil, len(victims))
		}
		clk.t = clk.t.Add(time.Millisecond)
		l.ConnState(c, http.StateIdle) // it becomes the youngest idle connection
	}
}
