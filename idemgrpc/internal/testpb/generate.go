// Package testpb is the gRPC service the tests and examples of package
// idemgrpc run against: testpb.proto and the Go code generated from it,
// committed so that building and testing need no protoc.
//
// To regenerate it after changing testpb.proto, install protoc (Debian:
// apt-get install protobuf-compiler) and the two plugins at the versions
// that match go.mod, then run go generate:
//
//	GOBIN=/tmp/bin go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11
//	GOBIN=/tmp/bin go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.1
//	PATH=/tmp/bin:$PATH go generate ./idemgrpc/internal/testpb
package testpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative testpb.proto
