//go:build tools

// Package tools names the commands this module exists to build, so that the
// module graph (and go.sum) holds what they import.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
