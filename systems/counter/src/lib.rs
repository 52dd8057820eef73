//! The distributed counter: faultline's first system (in progress).
