package server

import "testing"

// BenchmarkAcquireRelease is what entering and leaving the serving generation costs a request
// (the only per-request cost of reloads), on all cores at once.
func BenchmarkAcquireRelease(b *testing.B) {
	s := &Server{}
	s.gen.Store(&generation{drained: make(chan struct{})})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.acquire().release()
		}
	})
}
