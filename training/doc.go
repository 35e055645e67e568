// Package training fits fovea models: the training loop over a compiled graph, optimisers (Adam, Nadam,
// SGD with Keras semantics), learning-rate schedules, metrics, per-epoch history (JSON, CSV, PNG curves),
// progress reporting, and checkpoints in safetensors that let an interrupted run resume exactly where it
// stopped. It reads batches from package data and models from package arch; it never parses flags.
package training
