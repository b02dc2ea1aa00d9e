// Package clienttest holds tests of idemhttp with real retrying HTTP
// clients. The clients are dependencies of these tests only: this package
// has no code that anything imports.
package clienttest
