package wss

// DecodeResultTarget exposes the deferred.result body decoder to its fuzz
// test.
var DecodeResultTarget = decodeResultTarget

// AppendLines exposes the stored-chunk to chunk-frame conversion.
var AppendLines = appendLines
