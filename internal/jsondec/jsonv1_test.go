//go:build !goexperiment.jsonv2

package jsondec

// jsonV2 reports a build with GOEXPERIMENT=jsonv2, where encoding/json is
// implemented on the v2 package.
const jsonV2 = false
