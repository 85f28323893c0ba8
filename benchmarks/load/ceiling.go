package main

import (
	"encoding/json"
	"net"
	"net/http"
)

// serveCeiling serves a do-nothing OFREP look-alike on a loopback address
// until the process ends: it decodes the request body and answers a fixed
// response of the same shape (102 flags for bulk), so the load generator
// can measure the ceiling of the harness on this machine.
func serveCeiling(addr string) error {
	if err := loopback(addr); err != nil {
		return err
	}
	single := []byte(`{"key":"new-checkout","reason":"SPLIT","variant":"on","value":true}`)
	bulk := []byte(`{"flags":[`)
	for i := range 102 {
		if i > 0 {
			bulk = append(bulk, ',')
		}
		bulk = append(bulk, single...)
	}
	bulk = append(bulk, "]}"...)
	mux := http.NewServeMux()
	handler := func(body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var req struct {
				Context map[string]any `json:"context"`
			}
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		}
	}
	mux.HandleFunc("POST /ofrep/v1/evaluate/flags/{key}", handler(single))
	mux.HandleFunc("POST /ofrep/v1/evaluate/flags", handler(bulk))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return (&http.Server{Handler: mux}).Serve(l)
}
