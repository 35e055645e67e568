// Package graph owns fovea's op set and the building blocks of models: Gorgonia custom ops with fast CPU
// kernels and symbolic gradients built only from fovea ops, layer constructors with Keras-style
// initialisation, named parameter sets (the unit of saving, loading, freezing and optimising), and an
// executor that compiles a Gorgonia expression graph into a flat program of kernels over preallocated
// buffers.
//
// Layout conventions: images are NCHW, convolution kernels are OIHW (out, in, height, width), dense kernels
// are (in, out) as in Keras. Padding follows TensorFlow exactly, including SAME padding that is asymmetric
// (less before, more after) when the total is odd.
//
// The package never reads files and never touches datasets; training loops live in package training.
package graph
