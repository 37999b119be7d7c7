//! The float functions table building needs, from `libm` on every target: the host and a
//! microcontroller then compute identical tables (std's versions come from the platform's C
//! library and may differ in the last bit).

#[inline]
pub(crate) fn expf(x: f32) -> f32 {
    libm::expf(x)
}
#[inline]
pub(crate) fn cosf(x: f32) -> f32 {
    libm::cosf(x)
}
#[inline]
pub(crate) fn log1pf(x: f32) -> f32 {
    libm::log1pf(x)
}
#[inline]
pub(crate) fn powf(x: f32, y: f32) -> f32 {
    libm::powf(x, y)
}
#[inline]
pub(crate) fn floorf(x: f32) -> f32 {
    libm::floorf(x)
}
#[inline]
pub(crate) fn roundf(x: f32) -> f32 {
    libm::roundf(x)
}
#[inline]
pub(crate) fn cos(x: f64) -> f64 {
    libm::cos(x)
}
#[inline]
pub(crate) fn sin(x: f64) -> f64 {
    libm::sin(x)
}
#[inline]
pub(crate) fn sqrt(x: f64) -> f64 {
    libm::sqrt(x)
}
#[inline]
pub(crate) fn floor(x: f64) -> f64 {
    libm::floor(x)
}
#[inline]
pub(crate) fn round(x: f64) -> f64 {
    libm::round(x)
}
