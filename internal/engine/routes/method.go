package routes

import "net/http"

// OtherMethod stands for every request method outside the known set in metric labels, span
// names and logs (otelhttp does the same with "_OTHER").
const OtherMethod = "OTHER"

// knownMethods are the methods of RFC 9110 and PATCH (RFC 5789), mapped to constants so that
// a label never keeps a reference to a request's memory.
var knownMethods = map[string]string{
	http.MethodGet: http.MethodGet, http.MethodHead: http.MethodHead, http.MethodPost: http.MethodPost,
	http.MethodPut: http.MethodPut, http.MethodPatch: http.MethodPatch, http.MethodDelete: http.MethodDelete,
	http.MethodConnect: http.MethodConnect, http.MethodOptions: http.MethodOptions, http.MethodTrace: http.MethodTrace,
}

// Method returns m when it is a known method (GET, HEAD, POST, PUT, PATCH, DELETE, CONNECT,
// OPTIONS, TRACE; case-sensitive, as methods are), else OtherMethod: one of ten values, fit
// for a metric label or a span name whatever the client sent.
func Method(m string) string {
	if len(m) > len(http.MethodOptions) { // the longest known (CONNECT, OPTIONS): no hashing of a long one
		return OtherMethod
	}
	if k, ok := knownMethods[m]; ok {
		return k
	}
	return OtherMethod
}
