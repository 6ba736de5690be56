// Package config holds Sesame's runtime settings in one typed struct.
//
// Settings are layered, lowest to highest precedence: built-in defaults
// (Default), an optional YAML file named by --config or SESAME_CONFIG,
// environment variables, and finally command-line flags the user actually
// set. Load builds that layered value and Validate checks it; the two are
// separate so that `sesame config` can show a configuration that would fail
// validation and explain why.
//
// Every setting is described once, by struct tags on Config, and the YAML,
// environment and flag layers are derived from those tags by reflection, so a
// new setting cannot be forgotten in one of the layers.
package config
