// Package demo holds the machinery of fovea's convolution and pooling demos (the study's Figures 1 and
// 2): it reads a JPEG or PNG photo, converts it to grayscale or RGB planes in [0, 1], resizes it
// (bilinear), runs single graph ops on it (Conv2D with SAME padding, MaxPool2D, AvgPool2D,
// DepthwiseMaxPool: the ops training uses, not separate image routines), and composes titled panels
// into one PNG. It also finds a default photo in the tf_flowers folder of the data root.
//
// Planes are CHW float32, the layout of one NCHW batch item. The package never trains, never builds
// models and never downloads.
package demo
