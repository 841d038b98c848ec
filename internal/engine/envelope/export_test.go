package envelope

// AppendMetaAt and MetaAt expose AppendContextMeta's and Meta's work at a given time.
var (
	AppendMetaAt = appendMetaAt
	MetaAt       = metaAt
)
