class Order; end
