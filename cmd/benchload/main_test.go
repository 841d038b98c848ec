package main

import (
	"bufio"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name, raw  string
		status     int
		closeAfter bool
		rest       string
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloNEXT", 200, false, "NEXT"},
		{"chunked", "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nTrailer: v\r\n\r\nNEXT", 201, false, "NEXT"},
		{"no body", "HTTP/1.1 204 No Content\r\n\r\nNEXT", 204, false, "NEXT"},
		{"connection close", "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\ncontent-length: 2\r\n\r\nnoNEXT", 503, true, "NEXT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tc.raw))
			status, closeAfter, err := readResponse(br)
			if err != nil {
				t.Fatal(err)
			}
			if status != tc.status || closeAfter != tc.closeAfter {
				t.Errorf("got %d close=%v, want %d close=%v", status, closeAfter, tc.status, tc.closeAfter)
			}
			rest, _ := br.ReadString(0)
			if rest != tc.rest {
				t.Errorf("left %q, want %q", rest, tc.rest)
			}
		})
	}
	if _, _, err := readResponse(bufio.NewReader(strings.NewReader("garbage\r\n"))); err == nil {
		t.Error("garbage: no error")
	}
}
