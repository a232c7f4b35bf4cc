0	*†H†÷ 
trust me