# A sidekiq job (through Active Job): the worker service runs it.
class OrderTotalJob < ApplicationJob
  queue_as :default

  def perform(order_id)
    order = Order.find(order_id)
    Rails.logger.info("OrderTotalJob: order #{order.id} totals #{order.total}")
  end
end
