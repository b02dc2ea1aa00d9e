//go:build goexperiment.jsonv2

package jsondec

const jsonV2 = true
