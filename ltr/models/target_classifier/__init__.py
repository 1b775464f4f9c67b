"""DiMP-family target classifier: classification feature blocks, filter initializers, filter optimizers and the
``LinearFilter`` target model that combines them."""
