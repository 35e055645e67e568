// Package keras brings Keras weights into fovea: it reads Keras HDF5 weight files (the layout of
// model.save_weights and of model.save, "model_weights") into an ordered list of layers and their
// weights, and converts them onto a fovea model's parameter set (HWIO kernels to OIHW, depthwise and
// separable kernels to fovea's grouped layout), checking every weight's kind and shape.
//
// The HDF5 decoding is done by github.com/scigolib/hdf5, behind a structural check that fovea runs
// first: the file's metadata is walked, every size and address is checked against the file length, and
// only the formats Keras (through h5py) writes are accepted, so that a truncated or corrupt file gives an
// error instead of a crash or a huge allocation. The package only reads files and builds tensors; it never
// builds graphs or trains.
package keras
