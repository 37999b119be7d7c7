//! Layers with explicit streaming state (TODO).
